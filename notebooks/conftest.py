# nbval (`--nbval-lax`) executes the notebooks collected here with their default parameters.
# Notebooks whose defaults are a real training run are executed by the papermill tests in tests/
# with small parameters from parameters/ instead, so they are not collected here.
collect_ignore_glob = ["pretrain.ipynb", "decoder_eval.ipynb", "finetune.ipynb", "benchmark.ipynb", "embeddings_umap.ipynb", "*.py"]
