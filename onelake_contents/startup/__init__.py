"""Files run at a kernel's start (`lakeimport.kernel_startup_env`). IPython puts the folder of a
`PYTHONSTARTUP` file first on `sys.path` while it runs it, so this folder holds nothing whose
name another module could import by mistake."""
