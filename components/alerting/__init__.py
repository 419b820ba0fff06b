"""Where alerts go: an encrypted SNS topic per severity and the policies that let AWS services publish."""
