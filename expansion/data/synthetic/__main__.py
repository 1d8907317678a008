"""`python -m expansion.data.synthetic --out DIR ...`: export the synthetic dataset."""

from expansion.data.export import main

main()
