"""The ground floor every package stands on: settings (the only reader of the environment), the error
types, the clock, money and duration formatting, and the weekday-aware forecast. Imports nothing of ours."""
