"""The back office's forms, one module per section (products, categories, inventory...)."""
