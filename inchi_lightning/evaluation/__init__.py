"""Scoring predictions against labels, and a checkpoint run over a labelled image set."""
