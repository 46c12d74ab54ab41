echo "migrating"
