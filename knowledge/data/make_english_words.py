"""Regenerate english_words.txt: the most frequent English words, which the typo corrector never "corrects".

Run by hand (it needs `pip install wordfreq`); the bot itself only reads the text file it writes.
"""
from pathlib import Path

from wordfreq import top_n_list

WORDS = 50_000

if __name__ == "__main__":
    words = sorted({w for w in top_n_list("en", WORDS) if w.isalpha() and w.isascii()})
    Path(__file__).with_name("english_words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words")
