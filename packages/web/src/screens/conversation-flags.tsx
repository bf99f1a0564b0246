/** The small marks after a conversation's name in the list: pinned, muted, blocked (read out in words). */
export function ConversationFlags({ pinned, muted, blocked }: { pinned: boolean; muted: boolean; blocked: boolean }) {
  const words = [pinned && 'pinned', muted && 'muted', blocked && 'blocked'].filter((w): w is string => w !== false);
  if (words.length === 0) return null;
  const marks = [pinned && '📌', muted && '🔕', blocked && '⛔'].filter(Boolean).join('');
  return (
    <span class="flags" data-testid="flags" data-flags={words.join(' ')}>
      <span aria-hidden="true">{marks}</span>
      <span class="sr-only">({words.join(', ')})</span>
    </span>
  );
}
