"""Terms and their registration windows, departments, courses and sections."""
