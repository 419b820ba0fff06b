"""prodready's reusable Pulumi components and the pure helpers they share."""
