"""On-device perception: floor segmentation data, model contract and evaluation."""
