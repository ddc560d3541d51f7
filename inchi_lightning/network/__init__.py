"""The networks: plain ``nn.Module``s and searches, free of Lightning, Ray, RDKit and OpenCV."""
