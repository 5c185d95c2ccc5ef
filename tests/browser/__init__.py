"""End-to-end tests in a real browser (JupyterLab + Debian's Chromium); run by `make test-browser`."""
