"""Raw data to shards: molecules, drawing, scan damage, synthetic sets, labels, preprocessing."""
