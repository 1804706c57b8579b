"""The demo world behind `manage.py seed_demo`: a catalogue, people and their history.

`world` builds everything as plain data from a seed (no database), `artwork` paints covers
whose look follows the genre, `reviews` writes text whose wording follows the rating, and
`loading` stores a world in one transaction.
"""
