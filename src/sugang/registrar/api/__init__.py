"""The registrar's routes under /api/v1/admin, and the rosters staff read. They live here,
not in each domain, because the registrar's actions reach across domains (a section edit
moves its waitlist; deleting a student drops their enrollments)."""
