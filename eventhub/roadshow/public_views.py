"""Public road-show pages: the call for projects (项目征集), the applicant's private page, the public agenda."""
