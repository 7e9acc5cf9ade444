"""harness: runs YAML spec cases on PyTorch and on a torch-like implementation, and reports
every divergence. Pipeline: YAML -> Case -> Trace per backend -> Divergences -> report."""
