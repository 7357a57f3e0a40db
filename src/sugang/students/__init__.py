"""Students: year group, department, credit limit and completed courses."""
