"""What tests share: databases to run on, data factories, real servers."""
