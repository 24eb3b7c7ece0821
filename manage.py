#!/usr/bin/env python
from verity.__main__ import main

if __name__ == "__main__":
    main()
