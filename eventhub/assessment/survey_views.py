"""Survey pages: the organiser's questionnaire editor, response rates, non-respondents, results per question."""
