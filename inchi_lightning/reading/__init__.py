"""Reading: an image in, a reading out, with either model (``Reader``); the scale vote;
a checkpoint loaded without the training layer."""
