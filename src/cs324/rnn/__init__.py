"""Part III: a hand-written vanilla RNN and LSTM predicting the last digit of palindromes."""
