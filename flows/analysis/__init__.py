"""The ensemble demand analysis that the notebooks import.

``data`` reads the warehouse, ``features`` turns rows into model inputs, ``models`` and
``validation`` fit and honestly score the models, ``scoring`` predicts every prospect's
monthly potential, ``outputs`` writes (and reads back) the files the flow loads, and
``model_card`` writes the card. Every function takes data and returns data.
"""
