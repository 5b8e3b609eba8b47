"""Teachers for distillation: a pretrained transformer, fine-tuned on a
run's training split, whose soft labels train the GRU
(`textgru.tasks.distillation`). Needs PyTorch (`pip install 'textgru[teacher]'`)."""
