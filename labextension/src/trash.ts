/**
 * The "Trash" side panel: what was deleted from the tree and OneLake still keeps, newest first,
 * each with where it was, when, its size, the time left, and "Restore".
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { fileIcon, folderIcon, notebookIcon } from '@jupyterlab/ui-components';

import { HistoryAPI, ITrashItem } from './api';
import { exactly, size, timeLeft, when } from './format';
import { trashIcon } from './icons';
import { OneLakePanel } from './panel';

export class TrashPanel extends OneLakePanel {
  constructor(
    private readonly api: HistoryAPI,
    private readonly restore: (item: ITrashItem) => Promise<boolean>,
    translator: ITranslator,
    private readonly trans: TranslationBundle
  ) {
    // deletions made elsewhere (another server, the command line) show on each look
    super('onelake-trash', trans.__('Trash'), trashIcon, translator, trans, true);
    this.addClass('jp-OneLake-trash');
    const about = document.createElement('p');
    about.className = 'jp-OneLake-about';
    about.textContent = trans.__(
      'Files and folders deleted from your OneLake folders, kept for the workspace’s retention. A restored notebook comes back with its versions.'
    );
    this.body.node.prepend(about);
  }

  async refresh(): Promise<void> {
    await this.listing(
      () => this.api.trash(''),
      item => this.row(item),
      items =>
        items.length
          ? this.trans._n('%1 item, newest first.', '%1 items, newest first.', items.length)
          : this.trans.__('The trash is empty.')
    );
  }

  private row(item: ITrashItem): HTMLLIElement {
    const trans = this.trans;
    const row = document.createElement('li');
    row.className = 'jp-OneLake-trashItem';
    row.dataset.path = item.path;
    row.dataset.type = item.type;
    const icon =
      item.type === 'directory' ? folderIcon : item.type === 'notebook' ? notebookIcon : fileIcon;
    const iconNode = document.createElement('span');
    iconNode.className = 'jp-OneLake-icon';
    icon.element({ container: iconNode });
    const what = document.createElement('div');
    what.className = 'jp-OneLake-what';
    const name = document.createElement('span');
    name.className = 'jp-OneLake-name';
    name.textContent = item.name;
    name.title = item.path;
    const where = document.createElement('span');
    where.className = 'jp-OneLake-details';
    where.textContent = item.folder
      ? trans.__('in %1', item.folder)
      : trans.__('in the top folder');
    const details = document.createElement('span');
    details.className = 'jp-OneLake-details';
    const deleted = document.createElement('span');
    deleted.className = 'jp-OneLake-when';
    deleted.textContent = trans.__('deleted %1', when(item.deleted));
    deleted.title = exactly(item.deleted);
    const parts = [item.type === 'directory' ? trans.__('folder') : size(item.size, trans)];
    if (item.has_versions) {
      parts.push(trans.__('with its versions'));
    }
    parts.push(timeLeft(item.remaining_days, trans));
    const rest = document.createElement('span');
    rest.className = 'jp-OneLake-left';
    rest.textContent = ' · ' + parts.join(' · ');
    details.append(deleted, rest);
    what.append(name, where, details);
    const restore = document.createElement('button');
    restore.className = 'jp-Button jp-mod-styled jp-mod-minimal jp-OneLake-action';
    restore.dataset.action = 'restore';
    restore.textContent = trans.__('Restore');
    restore.title = trans.__('Put it back where it was');
    restore.onclick = async () => {
      restore.disabled = true;
      try {
        if (await this.restore(item)) {
          await this.refresh();
        }
      } finally {
        restore.disabled = false;
      }
    };
    row.append(iconNode, what, restore);
    return row;
  }
}
