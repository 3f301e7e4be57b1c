/**
 * onelake-contents in JupyterLab: the versions OneLake keeps of a file (list, preview, compare,
 * restore, restore as a copy) and the trash (what was deleted and OneLake still keeps, restored
 * where it was or under a new name). Both come from the server's `/onelake/api/`.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';

import { CURRENT, HistoryAPI, HistoryError, ITrashItem, IVersion, messageOf } from './api';
import { exactly } from './format';
import { CompareWidget } from './compare';
import { historyIcon, trashIcon } from './icons';
import { TrashPanel } from './trash';
import { IVersionActions, VersionsPanel } from './versions';
import { IViewServices, versionView } from './views';

namespace CommandIDs {
  export const versions = 'onelake-contents:versions';
  export const trash = 'onelake-contents:trash';
}

class Actions implements IVersionActions {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly api: HistoryAPI,
    private readonly docManager: IDocumentManager,
    private readonly services: IViewServices,
    private readonly browser: IDefaultFileBrowser | null,
    readonly versions: VersionsPanel
  ) {}

  private get trans(): TranslationBundle {
    return this.services.trans;
  }

  preview(path: string, version: IVersion): void {
    const id = `onelake-preview-${version.id}-${path}`;
    if (this.reveal(id)) {
      return;
    }
    const trans = this.trans;
    const content = new Panel();
    content.addClass('jp-OneLake-preview');
    const widget = new MainAreaWidget({ content });
    widget.id = id;
    widget.addClass('jp-OneLake-previewWidget');
    widget.node.dataset.path = path;
    widget.node.dataset.versionId = version.id;
    widget.title.label = trans.__(
      '%1 (%2)',
      PathExt.basename(path),
      exactly(version.last_modified)
    );
    widget.title.caption = trans.__(
      '%1 as it was on %2 (read-only)',
      path,
      exactly(version.last_modified)
    );
    widget.title.icon = historyIcon;
    widget.title.closable = true;
    const banner = new Widget();
    banner.addClass('jp-OneLake-banner');
    banner.node.textContent = trans.__(
      '%1 as it was on %2. Read-only.',
      path,
      exactly(version.last_modified)
    );
    content.addWidget(banner);
    this.toolbar(widget, path, version);
    this.app.shell.add(widget, 'main');
    void this.api.version(path, version.id).then(
      model => {
        if (widget.isDisposed) {
          return;
        }
        const view = versionView(model, this.services);
        view.addClass('jp-OneLake-previewBody');
        content.addWidget(view);
        widget.node.dataset.loaded = 'true';
      },
      error => {
        banner.node.textContent = messageOf(error);
        banner.addClass('jp-mod-error');
      }
    );
  }

  compare(path: string, version: IVersion, remote: string = CURRENT): void {
    const open = this.find(CompareWidget.idFor(path));
    const widget =
      open instanceof CompareWidget ? open : new CompareWidget(this.api, this.services, path);
    if (widget !== open) {
      this.app.shell.add(widget, 'main');
    }
    this.app.shell.activateById(widget.id);
    void widget.compare(version.id, remote);
  }

  async restore(path: string, version: IVersion): Promise<void> {
    const trans = this.trans;
    const unsaved = this.unsaved(path);
    const body =
      trans.__(
        '%1 gets the content it had on %2. What it holds now is kept as a version, so you can undo this.',
        path,
        exactly(version.last_modified)
      ) + (unsaved ? ' ' + trans.__('Its unsaved changes in this window are lost.') : '');
    const answer = await showDialog({
      title: trans.__('Restore this version?'),
      body,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Restore') })]
    });
    if (!answer.button.accept) {
      return;
    }
    await this.restoreNow(path, version, true);
  }

  private async restoreNow(path: string, version: IVersion, offerUndo: boolean): Promise<void> {
    const trans = this.trans;
    let kept: IVersion;
    try {
      kept = (await this.api.restore(path, version.id)).kept;
    } catch (error) {
      void showErrorMessage(trans.__('Cannot restore %1', path), messageOf(error));
      return;
    }
    await this.reload(path);
    this.versions.changed();
    Notification.success(
      offerUndo
        ? trans.__(
            '%1 is back to its version of %2.',
            PathExt.basename(path),
            exactly(version.last_modified)
          )
        : trans.__('%1 is back to what it held before the restore.', PathExt.basename(path)),
      {
        autoClose: 10000,
        actions: offerUndo
          ? [{ label: trans.__('Undo'), callback: () => void this.undo(path, kept) }]
          : []
      }
    );
  }

  /** Back to what the file held before a restore; asks first only if edits would be lost. */
  private async undo(path: string, kept: IVersion): Promise<void> {
    if (this.unsaved(path)) {
      await this.restore(path, kept);
    } else {
      await this.restoreNow(path, kept, false);
    }
  }

  async restoreAsCopy(path: string, version: IVersion): Promise<void> {
    const trans = this.trans;
    const answer = await InputDialog.getText({
      title: trans.__('Restore as a copy'),
      label: trans.__('Name of the new file, in the same folder (empty: a name like a copy’s)'),
      placeholder: trans.__(
        '%1 (version …)%2',
        PathExt.basename(path, PathExt.extname(path)),
        PathExt.extname(path)
      ),
      okLabel: trans.__('Restore')
    });
    if (!answer.button.accept) {
      return;
    }
    let made: { path: string };
    try {
      made = await this.api.restoreAsCopy(path, version.id, answer.value?.trim() || undefined);
    } catch (error) {
      void showErrorMessage(trans.__('Cannot restore %1 as a copy', path), messageOf(error));
      return;
    }
    void this.browser?.model.refresh();
    Notification.success(trans.__('Restored as %1.', made.path), {
      autoClose: 10000,
      actions: [
        { label: trans.__('Open'), callback: () => void this.docManager.openOrReveal(made.path) }
      ]
    });
  }

  /** Undeletes an item of the trash, asking for a new name while its own is taken. */
  async undelete(item: ITrashItem): Promise<boolean> {
    const trans = this.trans;
    let name: string | undefined;
    for (;;) {
      try {
        const done = await this.api.undelete(item, name);
        void this.browser?.model.refresh();
        Notification.success(trans.__('Restored %1.', done.path), {
          autoClose: 10000,
          actions:
            item.type === 'directory'
              ? []
              : [
                  {
                    label: trans.__('Open'),
                    callback: () => void this.docManager.openOrReveal(done.path)
                  }
                ]
        });
        return true;
      } catch (error) {
        if (!(error instanceof HistoryError) || error.status !== 409) {
          void showErrorMessage(trans.__('Cannot restore %1', item.path), messageOf(error));
          return false;
        }
        const taken = name ?? item.name;
        const ext = item.type === 'directory' ? '' : PathExt.extname(taken);
        const stem = ext ? taken.slice(0, -ext.length) : taken;
        const answer = await InputDialog.getText({
          title: trans.__('The name is taken'),
          label: trans.__(
            '%1 exists in %2 now. Restore it as:',
            taken,
            item.folder || trans.__('the top folder')
          ),
          text: `${stem} (restored)${ext}`,
          okLabel: trans.__('Restore')
        });
        if (!answer.button.accept || !answer.value?.trim()) {
          return false;
        }
        name = answer.value.trim();
      }
    }
  }

  /** The contexts of the file open in the main area, in whatever views (notebook, editor, table). */
  private contexts(path: string): Set<DocumentRegistry.Context> {
    const found = new Set<DocumentRegistry.Context>();
    for (const widget of this.app.shell.widgets('main')) {
      const context = this.docManager.contextForWidget(widget);
      if (context && this.app.serviceManager.contents.localPath(context.path) === path) {
        found.add(context);
      }
    }
    return found;
  }

  /** Whether a restore would lose edits not saved yet (a collaborative document has none). */
  private unsaved(path: string): boolean {
    return [...this.contexts(path)].some(c => !c.model.collaborative && c.model.dirty);
  }

  /** An open document shows the restored content and knows the file's new time, so that its
   * next save is not taken for an overwrite of someone else's change. */
  private async reload(path: string): Promise<void> {
    for (const context of this.contexts(path)) {
      try {
        await context.revert();
        if (!context.model.collaborative) {
          // it shows what the file holds now (JupyterLab's revert leaves the flag as it was)
          context.model.dirty = false;
        }
      } catch (error) {
        console.warn(`onelake-contents: ${path} was restored but could not be reloaded`, error);
      }
    }
  }

  private toolbar(widget: MainAreaWidget, path: string, version: IVersion): void {
    const trans = this.trans;
    const add = (name: string, label: string, tooltip: string, run: () => void) => {
      widget.toolbar.addItem(name, new ToolbarButton({ label, tooltip, onClick: run }));
    };
    add(
      'compare',
      trans.__('Compare with the file now'),
      trans.__('What changed since this version'),
      () => this.compare(path, version)
    );
    add(
      'restore',
      trans.__('Restore'),
      trans.__('Give the file this content'),
      () => void this.restore(path, version)
    );
    add(
      'copy',
      trans.__('Restore as a copy'),
      trans.__('Make a new file with this content'),
      () => void this.restoreAsCopy(path, version)
    );
  }

  private find(id: string): Widget | undefined {
    for (const widget of this.app.shell.widgets('main')) {
      if (widget.id === id) {
        return widget;
      }
    }
    return undefined;
  }

  private reveal(id: string): boolean {
    if (this.find(id)) {
      this.app.shell.activateById(id);
      return true;
    }
    return false;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'onelake-contents:history',
  description: 'Version history and a trash for files kept in OneLake',
  autoStart: true,
  requires: [IDocumentManager, IRenderMimeRegistry, IEditorServices],
  optional: [ITranslator, ILabShell, IDefaultFileBrowser, ICommandPalette, ILayoutRestorer],
  activate: async (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    rendermime: IRenderMimeRegistry,
    editorServices: IEditorServices,
    translator: ITranslator | null,
    labShell: ILabShell | null,
    browser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('onelake_contents');
    const api = new HistoryAPI(app.serviceManager.serverSettings);
    let kept: number | null = null;
    try {
      kept = (await api.about()).versions_kept;
    } catch (error) {
      if (error instanceof HistoryError && error.status === 404) {
        console.info(
          'onelake-contents: this server keeps its files elsewhere; version history and trash are off'
        );
        return;
      }
      // the panels will say what is wrong when they are used
      console.error('onelake-contents: the history API did not answer', error);
    }
    const contents = app.serviceManager.contents;
    const services: IViewServices = { rendermime, contents, editorServices, translator, trans };
    let actions: Actions;
    const versions = new VersionsPanel(
      api,
      {
        preview: (path, v) => actions.preview(path, v),
        compare: (path, v) => actions.compare(path, v),
        restore: (path, v) => actions.restore(path, v),
        restoreAsCopy: (path, v) => actions.restoreAsCopy(path, v)
      },
      translator,
      trans,
      kept
    );
    actions = new Actions(app, api, docManager, services, browser, versions);
    const trash = new TrashPanel(api, item => actions.undelete(item), translator, trans);
    const hasVersions = kept !== 0;
    if (hasVersions) {
      app.shell.add(versions, 'right', { rank: 850 });
      restorer?.add(versions, versions.id);
    }
    app.shell.add(trash, 'left', { rank: 900 });
    restorer?.add(trash, trash.id);

    // the panel follows the document in view (not previews, diffs or launchers), and its renames
    let tracked: DocumentRegistry.Context | null = null;
    const onFileChanged = () => versions.changed();
    const onPathChanged = (context: DocumentRegistry.Context) => {
      versions.path = contents.localPath(context.path);
    };
    const onDisposed = (context: DocumentRegistry.Context) => {
      if (tracked === context) {
        tracked = null;
      }
    };
    const track = (widget: Widget | null) => {
      const context = widget ? docManager.contextForWidget(widget) : undefined;
      if (!context) {
        return;
      }
      if (context !== tracked) {
        if (tracked) {
          tracked.fileChanged.disconnect(onFileChanged);
          tracked.pathChanged.disconnect(onPathChanged);
          tracked.disposed.disconnect(onDisposed);
        }
        tracked = context;
        context.fileChanged.connect(onFileChanged);
        context.pathChanged.connect(onPathChanged);
        context.disposed.connect(onDisposed);
      }
      versions.path = contents.localPath(context.path);
    };
    labShell?.currentChanged.connect((_, change) => track(change.newValue));
    void app.restored.then(() => track(app.shell.currentWidget));
    contents.fileChanged.connect((_, change) => {
      if (change.type === 'delete') {
        trash.changed();
      }
    });
    // JupyterLab's save makes a version (its checkpoint) before the command is done
    app.commands.commandExecuted.connect((_, executed) => {
      if (executed.id === 'docmanager:save' || executed.id === 'docmanager:save-all') {
        void Promise.resolve(executed.result).then(
          () => versions.changed(),
          () => undefined
        );
      }
    });

    /** The file a command is about: from a context menu (`from`), the item or document it
     * was opened on; else the document in view. */
    const target = (from: unknown): string | null => {
      if (from === 'browser' && browser) {
        const item = browser.selectedItems().next();
        if (!item.done && item.value.type !== 'directory') {
          return contents.localPath(item.value.path);
        }
      }
      let widget: Widget | null = app.shell.currentWidget;
      const hit =
        from === 'document'
          ? app.contextMenuHitTest(node => node.classList.contains('jp-Document'))
          : undefined;
      if (hit) {
        for (const each of app.shell.widgets('main')) {
          if (each.node === hit) {
            widget = each;
          }
        }
      }
      const context = widget ? docManager.contextForWidget(widget) : undefined;
      return context ? contents.localPath(context.path) : versions.path;
    };

    app.commands.addCommand(CommandIDs.versions, {
      label: trans.__('Version History'),
      caption: trans.__('The versions OneLake keeps of this file: preview, compare, restore'),
      icon: historyIcon,
      isVisible: () => hasVersions,
      execute: args => {
        const path = (args.path as string | undefined) ?? target(args.from);
        if (path !== null) {
          versions.path = path;
        }
        app.shell.activateById(versions.id);
      }
    });
    app.commands.addCommand(CommandIDs.trash, {
      label: trans.__('Trash'),
      caption: trans.__('Files and folders deleted from OneLake that can be restored'),
      icon: trashIcon,
      execute: () => {
        // showing the panel lists the trash; one already in view is listed again
        const shown = trash.isVisible;
        app.shell.activateById(trash.id);
        if (shown) {
          trash.changed();
        }
      }
    });
    if (palette) {
      const category = trans.__('OneLake');
      if (hasVersions) {
        palette.addItem({ command: CommandIDs.versions, category });
      }
      palette.addItem({ command: CommandIDs.trash, category });
    }
  }
};

export default plugin;
