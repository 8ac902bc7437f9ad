// Initiate the compose file's 3-member replica set once, then wait for a primary.
// Run by the mongo-init service with mongosh; safe to run again (it only waits then).
const members = ["mongo1:27017", "mongo2:27017", "mongo3:27017"].map((host, i) => ({ _id: i, host }));

function initiated() {
  try {
    return rs.status().ok === 1;
  } catch (error) {
    return false; // NotYetInitialized
  }
}

if (!initiated()) {
  rs.initiate({ _id: "rs0", members: members });
}
function hasPrimary() {
  try {
    return rs.status().members.some((m) => m.stateStr === "PRIMARY");
  } catch (error) {
    return false; // still electing
  }
}

for (let i = 0; i < 120; i++) {
  if (hasPrimary()) {
    print("replica set rs0 has a primary");
    quit(0);
  }
  sleep(1000);
}
print("replica set rs0 elected no primary within 120 s");
quit(1);
