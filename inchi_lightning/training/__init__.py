"""Training: LightningModules, the DataModule, metrics, checkpoints, submissions, Ray Train."""
