/** What the two side panels share: JupyterLab's side panel, a heading, a refresh button. */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { LabIcon, refreshIcon, SidePanel, ToolbarButton } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';

export abstract class OneLakePanel extends SidePanel {
  constructor(
    id: string,
    heading: string,
    icon: LabIcon,
    translator: ITranslator,
    trans: TranslationBundle
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
    this.content.addWidget(this.body);
  }

  abstract refresh(): Promise<void>;

  /** Where the panel's own elements go, below the toolbar (it scrolls). */
  protected readonly body: Widget;
}
