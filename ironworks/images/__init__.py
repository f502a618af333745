"""Image files: the store under `$IRONWORKS_HOME/images` and the deploy cache (README.md)."""
