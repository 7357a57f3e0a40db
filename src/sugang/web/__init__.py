"""The web UI: the front end built from frontend/ (Vite) into web/dist, served by the app."""
