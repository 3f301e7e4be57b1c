# The demo's settings as a config file: `onelake-contents demo` (and `make demo`) pass the same
# on the command line and take the OneLake settings (ONELAKE_*) from the embedded emulator.
# To use it by hand: start `onelake-emulator --data-dir .onelake-demo --workspace demo-workspace
# --item Demo.Lakehouse`, export ONELAKE_ENDPOINT, ONELAKE_BROKER_URL, ONELAKE_BROKER_TOKEN and
# ONELAKE_CA_FILE from its JSON line, then `jupyter lab --config jupyter_config/demo_config.py`.
c = get_config()  # noqa: F821 - provided by Jupyter

c.ServerApp.contents_manager_class = "onelake_contents.OneLakeContentsManager"
c.OneLakeContentsManager.workspace = "demo-workspace"
c.OneLakeContentsManager.root = "Demo.Lakehouse/Files/home/demo"
c.OneLakeContentsManager.metadata_ttl = 5
c.ServerApp.root_dir = ".onelake-demo/kernels"
c.ServerApp.open_browser = False
c.FileIdExtension.file_id_manager_class = "jupyter_server_fileid.manager.ArbitraryFileIdManager"
c.ServerApp.jpserver_extensions = {"jupyterlab_jupytext": False}
