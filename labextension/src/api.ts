/**
 * The server's history API (`/onelake/api/...`): a file's versions, their diffs, and the trash.
 * Requests go through JupyterLab's ServerConnection, so they carry its token and XSRF cookie.
 */
import { URLExt } from '@jupyterlab/coreutils';
import * as nbformat from '@jupyterlab/nbformat';
import { Contents, ServerConnection } from '@jupyterlab/services';

/** One kept version of a file (`id` is what OneLake calls it; newest first in a list). */
export interface IVersion {
  id: string;
  last_modified: string;
  size: number;
}

/** A version read as the contents API gives a file, never writable. */
export type VersionModel = Contents.IModel & { version: string };

export interface INotebookDiff {
  type: 'notebook';
  path: string;
  base_id: string;
  remote_id: string;
  base: nbformat.INotebookContent;
  diff: any[];
}

export interface IFileDiff {
  type: 'file';
  path: string;
  base_id: string;
  remote_id: string;
  /** A unified diff, `null` for binary content (then `message` says so). */
  diff: string | null;
  message?: string;
}

export type Diff = INotebookDiff | IFileDiff;

/** Something deleted that OneLake still keeps. */
export interface ITrashItem {
  id: string;
  name: string;
  path: string;
  folder: string;
  type: 'directory' | 'notebook' | 'file';
  deleted: string;
  size: number;
  remaining_days: number | null;
  has_versions: boolean;
}

/** The compared side that is the file as it is now. */
export const CURRENT = 'current';

/** An error the server explained (its `message`), with the HTTP status. */
export class HistoryError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

/** What to tell the user about an error: the server's message, else the error's. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class HistoryAPI {
  constructor(
    private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** What the server offers (a 404 when it does not run OneLakeContentsManager). */
  async about(): Promise<{ name: string; version: string; versions_kept: number }> {
    return this.request('GET', '', '');
  }

  async versions(path: string): Promise<IVersion[]> {
    const body = await this.request('GET', 'versions', path);
    return body.versions;
  }

  async version(path: string, id: string): Promise<VersionModel> {
    return this.request('GET', 'versions', path, { id });
  }

  async diff(path: string, base: string, remote: string = CURRENT): Promise<Diff> {
    return this.request('GET', 'diff', path, { base, remote });
  }

  /** The file gets the version's content; `kept` is the version its content before became. */
  async restore(
    path: string,
    id: string
  ): Promise<{ path: string; model: Contents.IModel; kept: IVersion }> {
    return this.request('POST', 'versions', `${path}/${id}/restore`, undefined, {});
  }

  /** A new file beside it with the version's content (`name`: its name, else one is made up). */
  async restoreAsCopy(
    path: string,
    id: string,
    name?: string
  ): Promise<{ path: string; model: Contents.IModel }> {
    const body: any = { as: 'copy' };
    if (name) {
      body.name = name;
    }
    return this.request('POST', 'versions', `${path}/${id}/restore`, undefined, body);
  }

  async trash(folder: string = ''): Promise<ITrashItem[]> {
    const body = await this.request('GET', 'trash', folder);
    return body.items;
  }

  /** Back where it was, or under `name` in the same folder (a taken name is a 409). */
  async undelete(item: ITrashItem, name?: string): Promise<{ path: string }> {
    return this.request('POST', 'trash', `${item.id}/restore`, undefined, name ? { name } : {});
  }

  private async request(
    method: string,
    route: string,
    path: string,
    query?: Record<string, string>,
    body?: any
  ): Promise<any> {
    let url = URLExt.join(this.settings.baseUrl, 'onelake/api', route, URLExt.encodeParts(path));
    if (query) {
      url += URLExt.objectToQueryString(query);
    }
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new HistoryError(0, String(error));
    }
    const text = await response.text();
    let data: any = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = (data && (data.message || data.reason)) || response.statusText;
      throw new HistoryError(response.status, message);
    }
    return data;
  }
}
