"""Privacy rights requests: recognise one in a visitor's message (`recognize`) and
compute its legal deadlines (`deadlines`). Nothing heavy is imported here."""
