"""`python -m bot …` runs the `khabar` command line."""
from bot.channels.cli import main

if __name__ == "__main__":
    main()
