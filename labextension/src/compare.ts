/**
 * A tab comparing two sides of a file (any of its versions, or the file now): two pickers above
 * the diff, which the server makes (nbdime's cell by cell for notebooks, a unified diff for text).
 */
import { MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { Panel, Widget } from '@lumino/widgets';

import { CURRENT, HistoryAPI, IVersion, messageOf } from './api';
import { exactly, when } from './format';
import { historyIcon } from './icons';
import { diffView, IViewServices } from './views';

export class CompareWidget extends MainAreaWidget<Panel> {
  constructor(
    private readonly api: HistoryAPI,
    private readonly services: IViewServices,
    readonly path: string
  ) {
    const trans = services.trans;
    super({ content: new Panel() });
    this.id = CompareWidget.idFor(path);
    this.addClass('jp-OneLake-compareWidget');
    this.content.addClass('jp-OneLake-compare');
    this.node.dataset.path = path;
    this.title.label = trans.__('Changes: %1', PathExt.basename(path));
    this.title.caption = trans.__('What changed in %1 between two versions', path);
    this.title.icon = historyIcon;
    this.title.closable = true;
    const bar = new Widget();
    bar.addClass('jp-OneLake-compareBar');
    this._base = this.picker('base');
    this._remote = this.picker('remote');
    const from = document.createElement('label');
    from.append(trans.__('From'), ' ', this._base);
    const to = document.createElement('label');
    to.append(trans.__('to'), ' ', this._remote);
    bar.node.append(from, to);
    this.content.addWidget(bar);
  }

  static idFor(path: string): string {
    return `onelake-compare-${path}`;
  }

  /** Lists the versions in the pickers, picks these two sides and shows their diff. */
  async compare(base: string, remote: string = CURRENT): Promise<void> {
    const trans = this.services.trans;
    const ticket = ++this._ticket;
    let versions: IVersion[] = [];
    try {
      versions = await this.api.versions(this.path);
    } catch (error) {
      void showErrorMessage(
        trans.__('Cannot list the versions of %1', this.path),
        messageOf(error)
      );
    }
    if (ticket !== this._ticket) {
      return; // a later comparison was asked for meanwhile
    }
    for (const select of [this._base, this._remote]) {
      const options = [new Option(trans.__('the file now'), CURRENT)];
      for (const v of versions) {
        options.push(new Option(`${when(v.last_modified)} · ${exactly(v.last_modified)}`, v.id));
      }
      select.replaceChildren(...options);
    }
    this._base.value = base;
    this._remote.value = remote;
    await this.showDiff();
  }

  private picker(side: 'base' | 'remote'): HTMLSelectElement {
    const select = document.createElement('select');
    select.className = 'jp-mod-styled jp-OneLake-side';
    select.dataset.side = side;
    select.onchange = () => void this.showDiff();
    return select;
  }

  /** The diff of the picked sides; an answer overtaken by a newer pick is dropped. */
  private async showDiff(): Promise<void> {
    const ticket = ++this._ticket;
    this.node.dataset.loaded = 'false';
    let view: Widget;
    try {
      const diff = await this.api.diff(this.path, this._base.value, this._remote.value);
      view = await diffView(diff, this.services);
    } catch (error) {
      view = new Widget();
      view.addClass('jp-OneLake-empty');
      view.addClass('jp-mod-error');
      view.node.textContent = messageOf(error);
    }
    if (ticket !== this._ticket || this.isDisposed) {
      view.dispose();
      return;
    }
    this._body?.dispose();
    this._body = view;
    view.addClass('jp-OneLake-compareBody');
    this.content.addWidget(view);
    this.node.dataset.loaded = 'true';
  }

  private readonly _base: HTMLSelectElement;
  private readonly _remote: HTMLSelectElement;
  private _body: Widget | null = null;
  private _ticket = 0;
}
