/**
 * A list view's delete: removes the item on the hub, then answers the list without it, or the
 * hub's refusal for the view to show (the list stays as it was).
 */
export async function removeListed<T extends { id: string }>(
  list: readonly T[] | undefined,
  item: T,
  remove: (id: string) => Promise<unknown>,
): Promise<{ list: T[] } | { error: string }> {
  try {
    await remove(item.id);
    return { list: (list ?? []).filter((candidate) => candidate.id !== item.id) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
