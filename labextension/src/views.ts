/**
 * Read-only views of a version: a notebook rendered cell by cell (markdown rendered, code in a
 * read-only editor, outputs through the rendermime registry), text in a read-only editor,
 * images as images; and a diff, notebooks with nbdime, other text line by line.
 */
import { CodeEditor, CodeEditorWrapper, IEditorServices } from '@jupyterlab/codeeditor';
import * as nbformat from '@jupyterlab/nbformat';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry, MimeModel, RenderMimeRegistry } from '@jupyterlab/rendermime';
import { Contents } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';

import { Diff, VersionModel } from './api';

export interface IViewServices {
  rendermime: IRenderMimeRegistry;
  contents: Contents.IManager;
  editorServices: IEditorServices;
  translator: ITranslator;
  trans: TranslationBundle;
}

function sourceOf(source: nbformat.MultilineString): string {
  return Array.isArray(source) ? source.join('') : source;
}

function readOnlyEditor(
  services: IViewServices,
  text: string,
  mimeType: string,
  inline: boolean
): CodeEditorWrapper {
  const model = new CodeEditor.Model({ mimeType });
  model.sharedModel.setSource(text);
  const factory = inline
    ? services.editorServices.factoryService.newInlineEditor
    : services.editorServices.factoryService.newDocumentEditor;
  const wrapper = new CodeEditorWrapper({
    factory,
    model,
    editorOptions: { config: { readOnly: true, lineNumbers: !inline } }
  });
  wrapper.disposed.connect(() => model.dispose());
  return wrapper;
}

/** A notebook as JupyterLab shows it, without a kernel and without editing. */
export class NotebookView extends Panel {
  constructor(notebook: nbformat.INotebookContent, services: IViewServices) {
    super();
    this.addClass('jp-OneLake-notebookView');
    this.addClass('jp-Notebook');
    const info = (notebook.metadata?.language_info ?? {
      name: 'python'
    }) as nbformat.ILanguageInfoMetadata;
    const codeMime = services.editorServices.mimeTypeService.getMimeTypeByLanguage(info);
    for (const cell of notebook.cells ?? []) {
      this.addWidget(this.cellWidget(cell, codeMime, services));
    }
    if (!notebook.cells?.length) {
      const empty = new Widget();
      empty.node.textContent = services.trans.__('This version of the notebook has no cells.');
      empty.addClass('jp-OneLake-empty');
      this.addWidget(empty);
    }
  }

  private cellWidget(cell: nbformat.ICell, codeMime: string, services: IViewServices): Widget {
    const box = new Panel();
    box.addClass('jp-OneLake-cell');
    box.addClass('jp-Cell');
    box.node.dataset.cellType = cell.cell_type;
    const trusted = cell.metadata?.trusted === true;
    const input = new Panel();
    input.addClass('jp-OneLake-input');
    const prompt = new Widget();
    prompt.addClass('jp-InputPrompt');
    prompt.addClass('jp-OneLake-prompt');
    input.addWidget(prompt);
    const source = sourceOf(cell.source);
    if (cell.cell_type === 'code') {
      const count = (cell as nbformat.ICodeCell).execution_count;
      prompt.node.textContent = `[${count ?? ' '}]:`;
      const editor = readOnlyEditor(services, source, codeMime, true);
      editor.addClass('jp-OneLake-code');
      input.addWidget(editor);
      box.addWidget(input);
      const outputs = (cell as nbformat.ICodeCell).outputs ?? [];
      if (outputs.length) {
        const area = new OutputArea({
          model: new OutputAreaModel({ values: outputs, trusted }),
          rendermime: services.rendermime,
          translator: services.translator
        });
        area.addClass('jp-OneLake-outputs');
        box.addWidget(area);
      }
    } else if (cell.cell_type === 'markdown') {
      const renderer = services.rendermime.createRenderer('text/markdown');
      renderer.addClass('jp-OneLake-markdown');
      // markdown is never trusted, as in JupyterLab's own cells; outputs follow the notary
      void renderer.renderModel(
        new MimeModel({ data: { 'text/markdown': source }, trusted: false })
      );
      input.addWidget(renderer);
      box.addWidget(input);
    } else {
      const raw = new Widget({ node: document.createElement('pre') });
      raw.addClass('jp-OneLake-raw');
      raw.node.textContent = source;
      input.addWidget(raw);
      box.addWidget(input);
    }
    return box;
  }
}

/** Any version: a notebook, text, an image, or a line saying it cannot be shown. */
export function versionView(model: VersionModel, services: IViewServices): Widget {
  if (model.type === 'notebook') {
    // relative links and images resolve beside the file, as in the notebook itself
    const resolver = new RenderMimeRegistry.UrlResolver({
      path: model.path,
      contents: services.contents
    });
    const rendermime = services.rendermime.clone({ resolver });
    return new NotebookView(model.content as nbformat.INotebookContent, {
      ...services,
      rendermime
    });
  }
  const mimetype = model.mimetype || 'application/octet-stream';
  if (model.format === 'text') {
    const mime = services.editorServices.mimeTypeService.getMimeTypeByFilePath(model.path);
    const editor = readOnlyEditor(services, model.content as string, mime, false);
    editor.addClass('jp-OneLake-text');
    return editor;
  }
  const view = new Widget();
  if (mimetype.startsWith('image/')) {
    const img = document.createElement('img');
    img.src = `data:${mimetype};base64,${String(model.content).replace(/\n/g, '')}`;
    img.alt = model.name;
    view.node.appendChild(img);
    view.addClass('jp-OneLake-image');
  } else {
    view.node.textContent = services.trans.__(
      '%1 is binary (%2): there is nothing to preview.',
      model.name,
      mimetype
    );
    view.addClass('jp-OneLake-empty');
  }
  return view;
}

/** A unified diff, one line per row, added and removed lines marked. */
export class TextDiffView extends Widget {
  constructor(diff: string | null, message: string | undefined, trans: TranslationBundle) {
    super();
    this.addClass('jp-OneLake-textDiff');
    if (diff === null) {
      this.node.textContent = message ?? trans.__('Binary content: no line-by-line diff');
      this.addClass('jp-OneLake-empty');
      return;
    }
    if (!diff) {
      this.node.textContent = trans.__('The two are the same.');
      this.addClass('jp-OneLake-empty');
      return;
    }
    const pre = document.createElement('pre');
    let header = true; // the `---` / `+++` lines before the first hunk name the two sides
    for (const line of diff.replace(/\n$/, '').split('\n')) {
      const row = document.createElement('div');
      row.textContent = line;
      if (line.startsWith('@@')) {
        header = false;
      }
      row.className = header
        ? 'jp-OneLake-diffFile'
        : line.startsWith('@@')
          ? 'jp-OneLake-diffHunk'
          : line.startsWith('+')
            ? 'jp-OneLake-diffAdded'
            : line.startsWith('-')
              ? 'jp-OneLake-diffRemoved'
              : 'jp-OneLake-diffContext';
      pre.appendChild(row);
    }
    this.node.appendChild(pre);
  }
}

/** The diff the server made, as a widget (nbdime's cell-by-cell view for notebooks). */
export async function diffView(diff: Diff, services: IViewServices): Promise<Widget> {
  if (diff.type === 'file') {
    return new TextDiffView(diff.diff, diff.message, services.trans);
  }
  const model = new NotebookDiffModel(diff.base, diff.diff);
  const widget = new NotebookDiffWidget({
    model,
    rendermime: services.rendermime,
    editorFactory: services.editorServices.factoryService.newInlineEditor,
    translator: services.translator
  });
  const root = new Panel();
  root.addClass('nbdime-root');
  root.addClass('jp-OneLake-notebookDiff');
  root.addWidget(widget);
  await widget.init();
  return root;
}
