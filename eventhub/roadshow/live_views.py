"""Live pages: panel members score pitches on their phones, investors mark interest, session results."""
