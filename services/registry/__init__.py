"""Registry context: org units below the official provinces and communes (sở, agencies, schools, ...)."""
