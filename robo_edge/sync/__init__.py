"""Cloud sync of maps, models and policies: signed (TUF), offline-first, resumable, A/B slots."""
