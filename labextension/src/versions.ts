/**
 * The "Version history" side panel: the versions OneLake keeps of the file in view, newest on top,
 * each with preview, compare, restore and restore-as-a-copy.
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { HistoryAPI, IVersion } from './api';
import { exactly, size, when } from './format';
import { historyIcon } from './icons';
import { OneLakePanel } from './panel';

/** What the panel's buttons do (the plugin's actions, shared with previews and diffs). */
export interface IVersionActions {
  preview(path: string, version: IVersion): void;
  compare(path: string, version: IVersion): void;
  restore(path: string, version: IVersion): Promise<void>;
  restoreAsCopy(path: string, version: IVersion): Promise<void>;
}

function button(label: string, title: string, action: string): HTMLButtonElement {
  const node = document.createElement('button');
  node.className = 'jp-Button jp-mod-styled jp-mod-minimal jp-OneLake-action';
  node.textContent = label;
  node.title = title;
  node.dataset.action = action;
  return node;
}

export class VersionsPanel extends OneLakePanel {
  constructor(
    private readonly api: HistoryAPI,
    private readonly actions: IVersionActions,
    translator: ITranslator,
    private readonly trans: TranslationBundle,
    private readonly kept: number | null
  ) {
    super('onelake-versions', trans.__('Version History'), historyIcon, translator, trans, false);
    this.addClass('jp-OneLake-versions');
    this._file = document.createElement('div');
    this._file.className = 'jp-OneLake-file';
    this.body.node.prepend(this._file);
    this.reset(null);
  }

  /** The file whose versions are shown (an API path), or null. */
  get path(): string | null {
    return this._path;
  }

  set path(path: string | null) {
    if (path === this._path) {
      return;
    }
    this._path = path;
    this.reset(path);
    if (this.isVisible) {
      void this.refresh();
    } else {
      this.stale = true;
    }
  }

  async refresh(): Promise<void> {
    const path = this._path;
    if (path === null) {
      this.stale = false;
      return;
    }
    const trans = this.trans;
    const rule =
      this.kept === null
        ? trans.__('Each Save (Ctrl+S) keeps a version.')
        : trans.__('Each Save (Ctrl+S) keeps a version; the newest %1 are kept.', this.kept);
    await this.listing(
      () => this.api.versions(path),
      version => this.row(path, version),
      versions =>
        (versions.length
          ? trans._n('%1 version, newest on top.', '%1 versions, newest on top.', versions.length)
          : trans.__('No versions yet.')) +
        ' ' +
        rule
    );
  }

  private reset(path: string | null): void {
    this.list.replaceChildren();
    this.status.classList.remove('jp-mod-error');
    if (path === null) {
      this._file.textContent = '';
      this.status.textContent = this.trans.__(
        'Open a file to see the versions OneLake keeps of it.'
      );
      return;
    }
    this._file.textContent = path;
    this._file.title = path;
    this.status.textContent = this.trans.__('Loading…');
  }

  private row(path: string, version: IVersion): HTMLLIElement {
    const trans = this.trans;
    const item = document.createElement('li');
    item.className = 'jp-OneLake-version';
    item.dataset.versionId = version.id;
    const what = document.createElement('div');
    what.className = 'jp-OneLake-what';
    const time = document.createElement('span');
    time.className = 'jp-OneLake-when';
    time.textContent = when(version.last_modified);
    const details = document.createElement('span');
    details.className = 'jp-OneLake-details';
    details.textContent = `${exactly(version.last_modified)} · ${size(version.size, trans)}`;
    what.append(time, details);
    const buttons = document.createElement('div');
    buttons.className = 'jp-OneLake-buttons';
    const preview = button(
      trans.__('Preview'),
      trans.__('Show this version, read-only'),
      'preview'
    );
    preview.onclick = () => this.actions.preview(path, version);
    const compare = button(
      trans.__('Compare'),
      trans.__('Show what changed between this version and the file now'),
      'compare'
    );
    compare.onclick = () => this.actions.compare(path, version);
    const restore = button(
      trans.__('Restore'),
      trans.__('Give the file this content (what it holds now is kept as a version)'),
      'restore'
    );
    restore.onclick = () => void this.actions.restore(path, version);
    const copy = button(
      trans.__('Restore as a copy'),
      trans.__('Make a new file beside it with this content'),
      'copy'
    );
    copy.onclick = () => void this.actions.restoreAsCopy(path, version);
    buttons.append(preview, compare, restore, copy);
    item.append(what, buttons);
    return item;
  }

  private _path: string | null = null;
  private readonly _file: HTMLDivElement;
}
