# The demo's settings as a config file. `onelake-contents demo` (and `make demo`) pass the same on
# the command line, keep everything in the data dir `.onelake-demo/` (the emulator in `onelake/`,
# kernels in `kernels/`), and serve the home `Demo.Lakehouse/Files/home/<user>` of the workspace
# `demo-workspace`, where <user> is `--user` or the login name.
# To use this file by hand: start `onelake-emulator --data-dir .onelake-demo/onelake --workspace
# demo-workspace --item Demo.Lakehouse`, export ONELAKE_ENDPOINT, ONELAKE_BROKER_URL,
# ONELAKE_BROKER_TOKEN and ONELAKE_CA_FILE from its JSON line, set JUPYTER_TOKEN, then
# `jupyter lab --config jupyter_config/demo_config.py` (the home here is `home/demo`).
import os
import tempfile

c = get_config()  # noqa: F821 - provided by Jupyter

c.ServerApp.contents_manager_class = "onelake_contents.OneLakeContentsManager"
c.OneLakeContentsManager.workspace = "demo-workspace"
c.OneLakeContentsManager.root = "Demo.Lakehouse/Files/home/demo"
c.OneLakeContentsManager.metadata_ttl = 5
c.ServerApp.root_dir = ".onelake-demo/kernels"
c.ServerApp.open_browser = False
c.ServerApp.max_body_size = 96 * 1024 * 1024  # max_content_bytes plus base64/JSON overhead
c.FileIdExtension.file_id_manager_class = "jupyter_server_fileid.manager.ArbitraryFileIdManager"
# the file ids and the notebook signatures stay in the data folder, not in ~/.local/share/jupyter
jupyter_dir = os.path.abspath(".onelake-demo/jupyter")
for folder in (os.path.dirname(jupyter_dir), jupyter_dir):
    os.makedirs(folder, mode=0o700, exist_ok=True)
c.ArbitraryFileIdManager.db_path = os.path.join(jupyter_dir, "file_id_manager.db")
c.NotebookNotary.data_dir = jupyter_dir
# real-time collaboration's edit history: a temporary file of this run, not a lasting local copy
c.YDocExtension.ystore_class = "jupyter_server_ydoc.stores.SQLiteYStore"
c.SQLiteYStore.db_path = tempfile.mkdtemp(prefix="onelake-demo-") + "/ystore.db"
