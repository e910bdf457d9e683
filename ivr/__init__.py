"""The phone line: Twilio voice and SMS webhooks, outbound reminders, a phone simulator."""
