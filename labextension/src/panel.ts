/**
 * What the two side panels share: JupyterLab's side panel with a heading and a refresh button,
 * and a listing (a status line, then rows) that is fetched when in view and kept current.
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { LabIcon, refreshIcon, SidePanel, ToolbarButton } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import { messageOf } from './api';

export abstract class OneLakePanel extends SidePanel {
  /**
   * @param listOnShow - list again whenever the panel comes into view (else only when a change
   *   was reported while it was hidden)
   */
  constructor(
    id: string,
    heading: string,
    icon: LabIcon,
    translator: ITranslator,
    trans: TranslationBundle,
    private readonly listOnShow: boolean
  ) {
    super({ content: new Panel(), translator });
    this.id = id;
    this.addClass('jp-OneLake-panel');
    this.title.icon = icon;
    this.title.caption = heading;
    const title = document.createElement('h2');
    title.className = 'jp-text-truncated';
    title.textContent = heading;
    this.header.addWidget(new Widget({ node: title }));
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: trans.__('Refresh'),
        onClick: () => void this.refresh()
      })
    );
    this.body = new Widget();
    this.body.addClass('jp-OneLake-body');
    this.status = document.createElement('p');
    this.status.className = 'jp-OneLake-status';
    this.list = document.createElement('ul');
    this.list.className = 'jp-OneLake-list';
    this.body.node.append(this.status, this.list);
    this.content.addWidget(this.body);
  }

  abstract refresh(): Promise<void>;

  /** Lists again when in view, else when the panel next comes into view; changes reported
   * together (a save and its reload, several deletions) make one listing. */
  changed(): void {
    if (!this.isVisible) {
      this.stale = true;
      return;
    }
    window.clearTimeout(this._soon);
    this._soon = window.setTimeout(() => void this.refresh(), 200);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this.listOnShow || this.stale) {
      void this.refresh();
    }
  }

  /** Lists what `load` answers as rows, `summary` on the status line; an error goes on the
   * status line; an answer overtaken by a later listing is dropped. */
  protected async listing<T>(
    load: () => Promise<T[]>,
    row: (item: T) => HTMLElement,
    summary: (items: T[]) => string
  ): Promise<void> {
    this.stale = false;
    const ticket = ++this._ticket;
    this.node.classList.add('jp-mod-loading');
    let items: T[];
    try {
      items = await load();
    } catch (error) {
      if (ticket === this._ticket) {
        this.node.classList.remove('jp-mod-loading');
        this.list.replaceChildren();
        this.status.textContent = messageOf(error);
        this.status.classList.add('jp-mod-error');
      }
      return;
    }
    if (ticket !== this._ticket) {
      return;
    }
    this.node.classList.remove('jp-mod-loading');
    this.status.classList.remove('jp-mod-error');
    this.status.textContent = summary(items);
    this.list.replaceChildren(...items.map(row));
  }

  /** Where the panel's own elements go, below the toolbar (it scrolls); the listing is last. */
  protected readonly body: Widget;
  protected readonly status: HTMLParagraphElement;
  protected readonly list: HTMLUListElement;
  /** A change was reported while the panel was hidden. */
  protected stale = false;
  private _ticket = 0;
  private _soon = 0;
}
