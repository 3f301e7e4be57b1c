# The single-user image for helm-values.yaml: JupyterLab with onelake-contents, no FUSE, no mounts.
#   docker build -f jupyter_config/singleuser.Dockerfile -t registry.example.com/platform/onelake-singleuser:1.0.0 .
FROM quay.io/jupyter/base-notebook:python-3.11

USER root
COPY --chown=${NB_UID}:${NB_GID} . /tmp/onelake-contents
USER ${NB_UID}

# the fsspec extra gives kernels onelake_contents.fs(); jupyterhub provides jupyterhub-singleuser
RUN pip install --no-cache-dir "/tmp/onelake-contents[fsspec]" "jupyterhub>=5" "jupyterlab>=4.1" \
        "jupyter-collaboration>=3" "pandas>=2" \
    && mkdir -p /home/jovyan/work \
    && rm -rf /tmp/onelake-contents

# The extension that wires the manager in comes with the wheel (etc/jupyter/jupyter_server_config.d).
# Settings come from the spawner's environment (ONELAKE_*); the server config is mounted by the chart.
WORKDIR /home/jovyan/work
