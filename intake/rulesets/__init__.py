"""The web side of the rules: the ruleset in force and its refresh, versions kept in the
database (checked, activated, rolled back), re-assessment, and the `flask rules` commands.

The rules themselves (loading, checking, assessing) are the core's, intake.assessment.
"""
