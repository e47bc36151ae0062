"""Voice mood check-in: speech emotion (RAVDESS's 8 classes) from a short recording.

Modules, in the order data flows through them:

- `dataset`: the RAVDESS file-name parser, the dataset reader and audio loading
  (any rate -> 22,050 Hz mono, float32).
- `features`: per-clip feature vectors (the published reference recipe and the
  extended set), cached on disk.
- `normalise`: per-speaker normalisation (statistics from a speaker's own
  unlabelled clips; the user's come from `emotune voice enrol`).
- `models`: svc / rf / xgboost with an actor-grouped randomized-then-narrowed
  search, save and load with metadata.
- `evaluate`: leave-actors-out scoring, majority-class rate, confusion matrix.
- `mood`: the 8 emotions -> valence/arousal probabilities and quadrants.
- `mic`: optional microphone recording (only if `sounddevice` is installed).

Nothing here imports `app`; errors are `VoiceError` (a `ClassifierError`).
"""
