"""Amazon SES helpers.  Nothing here imports boto3; commands that need it import it themselves."""
